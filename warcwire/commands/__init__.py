"""One module per CLI verb; each has ``register(subparsers)``.

Add a verb by writing its module and naming it here.
"""

COMMANDS = [
    "warcwire.commands.crawl",
    "warcwire.commands.sites",
    "warcwire.commands.demo",
    "warcwire.commands.normalize",
    "warcwire.commands.sync",
    "warcwire.commands.captures",
    "warcwire.commands.restore",
    "warcwire.commands.reindex",
    "warcwire.commands.verify",
    "warcwire.commands.review",
    "warcwire.commands.serve",
    "warcwire.commands.status",
    "warcwire.commands.trigger",
    "warcwire.commands.runs",
    "warcwire.commands.reload",
]
