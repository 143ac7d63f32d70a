"""Input contract, readers and validation: raw files in, clean Parquet plus a quarantine out."""
