"""The artifact: the contract between training and serving (docs/development.md lists its
modules). It re-exports nothing, so importing the schema never pulls in the rest."""
