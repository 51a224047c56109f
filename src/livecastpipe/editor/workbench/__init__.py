"""The editor's workbench (`livecast edit`): a local web application in which an editor corrects a
session's transcript, speakers, chapters and generated texts, approves the captions and publishes.

Starlette with server-rendered templates (`templates/workbench/`) and a little plain JavaScript
(`static/workbench.js`). Every request needs the token printed at start (query `token`, header
`X-Livecast-Token`, or the cookie the first page sets); a state-changing request must also come from the
workbench itself (the token header, or an Origin/Referer of this host). Only the public files of a
session's site folder are served (for the player and the preview); the JSON API is in docs/editing.md.

`views` reads a session and builds what its page and JSON show; `service` (`Workbench`) changes its edits,
speakers, chapters and review and publishes it; `guard` checks every request (Host, token, same origin,
its JSON) and words the refusals; `routes` (`workbench_app`) maps the addresses onto the service.
"""
