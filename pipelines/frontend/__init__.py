"""The one front end: any input (a source file, ``.ll``/``.bc``, an archive member, a text in
memory) to normalised IR and to its two views.

- :mod:`.language`: what an input is (suffix or content; bitcode magic).
- :mod:`.loader`: :class:`~.loader.FrontEnd`, the checks (existence, size, language), the
  compile stage for sources and the normaliser, with one vocabulary of failure reasons.
- :mod:`.views`: the token and graph views of normalised IR (the build derives the graph in
  its compile phase and the ids at shard time; the embedder does both at once).

The dataset build, the embedder, the evaluation loaders and ``mirencoder dataset graph`` all
go through it, so training and serving see the same programs.
"""
