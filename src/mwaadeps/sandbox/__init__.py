"""The local AWS sandbox: moto server (S3/KMS/STS/Logs) and the MWAA emulator on 127.0.0.1."""
