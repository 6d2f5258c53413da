"""Dataset card template(s) and the code that fills them: arrives with the publishing stage.

Nothing here yet; `build-mer-caption` reports the publish stage as not built."""
