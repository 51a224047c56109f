"""The stages of the pipeline, in the order data flows: recording → transcript → speakers → chapters → subtitles and summaries."""
