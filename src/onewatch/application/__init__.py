"""What Onewatch does with a request, apart from how the request arrived.

Creating, replacing and deleting events and actions, checking the documents that describe
them (their models are ``onewatch.domain.documents``, shared with the client), computing
their fires, rendering them as JSON, paging listings and hiding other services' items: the
HTTP API (``onewatch.api``), the dashboard (``onewatch.ui``) and the importer all do these
the same way, so they live here once. The package is called *application* (not *service*,
which in Onewatch names a tenant) after the layer it is: between the web front doors above
and the store below. It knows no web framework: nothing here imports FastAPI or Starlette
(``tests/application/test_layering.py`` checks), so a door other than HTTP can call it as
it is.
"""
