"""Built-in plugins. Each module registers through the ``mlcore`` entry-point group,
exactly as a third-party package would (see README "Writing a plugin")."""
