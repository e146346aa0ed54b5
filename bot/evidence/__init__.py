"""What checks/ judges, gathered and stored: the runs of checks, the cluster snapshot, the
package store."""
