"""The web application: FastAPI routers, pages, live video and the alert feed."""
