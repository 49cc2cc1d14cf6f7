"""The approval and audit console of ``thoth serve``, under ``/ui/`` on the same port and store.

``console.py`` (routes and I/O), ``session.py`` (sign-in cookie and CSRF tokens, pure),
``views.py`` (what each page shows, pure), ``headers.py`` (the security headers of every
``/ui/`` response), ``templates/`` (Jinja2, autoescaped) and ``static/`` (CSS and the one
script; no inline script or style, no CDN). All of it ships in the wheel.
"""
