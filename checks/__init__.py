"""Pure checkers: a file (path or bytes) and the policy in, issues and measurements out.

No queue, no network, no logging configuration: everything here can run in a sandboxed child.
"""
