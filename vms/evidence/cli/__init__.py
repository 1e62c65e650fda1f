"""Command groups ``vms cases``, ``vms evidence`` (with ``keys``), ``vms hold``,
``vms retention`` and ``vms audit``: one module per group (``vms.cli`` adds each).

Each command is a thin shell over the service functions the web app calls too. Audited
commands take ``--user`` (default $VMS_USER, else the OS user) and ``--reason``.
"""
