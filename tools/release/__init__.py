"""Release decisions the workflow delegates to tested code; standard library only."""
