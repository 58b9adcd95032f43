"""Pure, deterministic model-choice logic: safe to import from workflow code."""
