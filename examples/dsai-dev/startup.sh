#!/bin/sh
# Runs on every MWAA container before the requirements are installed.
export DSAI_ENVIRONMENT="dev"
export DSAI_DATA_BUCKET="dsai-data-dev"
echo "dsai startup: environment ${DSAI_ENVIRONMENT}"
