"""The core model every layer shares: the policy, the rule registry, the report, the messages in
kk/ru/en, file-name normalisation and structured logging. Imports nothing else of courtdoc."""
