"""Job orchestration: the shared queue, dispatch across ComfyUI servers, running jobs."""
