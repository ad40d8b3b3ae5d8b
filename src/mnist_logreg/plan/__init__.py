"""The sweep as a plan: the grid (:mod:`.grid`) x repeats x folds -> tasks (:mod:`.tasks`), run by an
executor (:mod:`.executors`: this process, local worker processes, or a Dask cluster in :mod:`.dask`),
rows gathered into a table by :mod:`.sweep`.

Nothing is imported here: the engines read :mod:`.grid`, and the executors read the engines.
"""
