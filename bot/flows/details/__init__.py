"""G2, details established: the checklist in the thread, Confirm, Waive…, hotfixes."""
