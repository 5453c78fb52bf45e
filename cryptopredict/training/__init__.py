"""Training's orchestration: the command line (`cli`), the Dask cluster (`cluster`), each pair's
task graph (`graph`) and its steps (`steps`, `tasks`), the fit cache and progress. The numerics
it drives are in `cryptopredict.model`, which imports none of this.
"""
