"""Files a run reads and writes: atomic writes, the run folder and its checkpoints, the run record, model files."""
