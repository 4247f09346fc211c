"""Flow files: JSON and YAML documents, problems, validation, schemas."""
