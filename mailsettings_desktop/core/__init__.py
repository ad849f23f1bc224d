"""The program's core: storage, secrets, presets and the account check. Imports no Qt."""
