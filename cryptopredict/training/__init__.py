"""Training's orchestration: the command line (`cli`), the Dask cluster (`cluster`), each pair's
task (`graph`, `steps`, `tasks`) and the progress. The numerics it drives are in
`cryptopredict.model`, which imports none of this.
"""
