"""The catalog's faces: the AsyncAPI document, the web page and the kubectl plugin.

Each renders a core.catalog_snapshot.Catalog; none writes anything. The HTTP routes are served
by the operator on its metrics port; the kubectl plugin builds its own snapshot from what it
lists, without the operator.
"""
