"""The `lamina` command: run the examples, and summarise, evaluate, report on and convert model files."""
