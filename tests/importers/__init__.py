"""The import pipeline: batches, corrections, encodings, hostile files, real files, fixtures, fuzzing."""
