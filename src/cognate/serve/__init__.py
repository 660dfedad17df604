"""`cognate serve`: an OpenAI-compatible API and a web page for trained runs.

app.py (the web application and `Server`), openai_api.py (/v1), engine.py (batched decoding on
one thread), runs.py (run directories, model cards, metrics), errors.py (OpenAI-shaped errors),
static/ (the page: plain HTML, CSS and JavaScript, no build step, nothing from a CDN).
"""
