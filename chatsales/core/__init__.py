"""The core: settings (the one reader of the environment), the warehouse URL and paths.
It imports nothing else from the project."""
