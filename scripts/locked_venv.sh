# Sourced by the setup scripts: a virtualenv kept equal to its lock file. A stamp in the venv
# holds the hash of what it was installed from, so a setup run again installs only after the
# lock changes (chatsales/app/spark/commands.py reads .venv-spark's the same way).
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}

# create_venv VENV: the virtualenv, created with $PYTHON unless it exists
create_venv() {
  if [ ! -x "$1/bin/python" ]; then
    echo "Creating $1 with $("$PYTHON" --version)"
    "$PYTHON" -m venv "$1"
  fi
}

# installed_from VENV FILE...: true when VENV was installed from these files as they are now
installed_from() {
  local venv=$1
  shift
  [ "$(cat "$venv/.chatsales-lock.sha256" 2>/dev/null)" = "$(cat "$@" | sha256sum | cut -d' ' -f1)" ]
}

# record_installed VENV FILE...: stamp VENV as installed from these files
record_installed() {
  local venv=$1
  shift
  cat "$@" | sha256sum | cut -d' ' -f1 > "$venv/.chatsales-lock.sha256"
}
