"""Who acts: principals, roles, permissions. Pure rules; passwords, TOTP and sessions are stored and
verified by adapters and `yinqi.application.identity`."""
