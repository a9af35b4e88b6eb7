"""Who may sign in and act: the directory of users and departments, sign-in with its lockouts and
log, the password policy and API tokens. It imports storage and working time, never the runtime."""
