"""The AgentsFlowAI backend in miniature: FastAPI + sentry-sdk, set up as the mission guide says."""
