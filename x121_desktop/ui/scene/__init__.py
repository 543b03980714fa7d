"""The scene workspace in the central view: a scene's chain of segments, each segment's take tree, and the
scene/segment/take actions driving the services (generate, regenerate, heal, use, approve, lock, assemble)."""
