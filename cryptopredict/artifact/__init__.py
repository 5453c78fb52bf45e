"""The artifact: the contract between training and serving.

- `schema`: the typed manifest, backtest report and index entry (msgspec Structs; imports
  nothing else of cryptopredict, so the data stage may use it);
- `arrays`: the forecast grid and the bar history, in memory and on disk;
- `read`: reading an artifact and verifying it against its manifest;
- `store`: a model directory's artifacts, listed from `index.json` and opened lazily;
- `write`: encoding an artifact and installing it atomically;
- `index`: `index.json`, the catalog of a model directory;
- `training`: `training.json`, how far a run training into a model directory has got (the API
  says so while it serves the pairs already written).

Import what you need from its module: this package re-exports nothing, so importing the
schema never pulls in the rest.
"""
