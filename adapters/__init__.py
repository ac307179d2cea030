"""g5kpure adapters: the effects (ssh, HTTP, SQL, files, subprocess), each returning Result values."""
