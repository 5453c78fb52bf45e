"""Release decisions the workflow delegates to tested code: versions, image tags, the deploy.

Standard library only, so a workflow job can run it without installing the project.
"""
