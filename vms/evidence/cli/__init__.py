"""Command groups ``vms cases``, ``vms evidence`` (with ``keys``), ``vms hold``,
``vms retention`` and ``vms audit``: one module per group (``vms.cli`` adds each).

Each command is a thin shell over the service functions the web app calls too. Audited
commands take ``--reason``; the actor is the OS user, or the vms user authenticated with
``--login`` or ``$VMS_TOKEN`` (vms.cli_identity), never a name typed in.
"""
