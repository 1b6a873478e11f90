"""Data shipped with introaws (the QA bot's sample questions)."""
