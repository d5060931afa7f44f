#!/usr/bin/env bash
# Runs sytest against this checkout of Hearth and summarises the results by area.
#
#   sytest-compat/run.sh [--no-whitelist] SYTEST_DIR [test files...]
#
#   SYTEST_DIR     an unpacked matrix-org/sytest (run-tests.pl, lib/, tests/, keys/)
#   test files     a subset, as sytest names them: tests/11register.pl tests/30rooms/01state.pl ...
#                  (a folder is not accepted; list its files, e.g. tests/30rooms/*.pl from SYTEST_DIR)
#
# Environment:
#   SYTEST_PERL5LIB      folder with the Crypt::Ed25519 and Net::Async::HTTP::Server stand-ins
#                        (default /work/scratch/perl5lib); see README.md
#   SYTEST_RESULTS_DIR   where results go (default /work/scratch/sytest-results, or
#                        /tmp/hearth-sytest-results when /work/scratch does not exist)
#   TIMEOUT_FACTOR       multiplies sytest's timeouts (default 2)
#   SYTEST_EXTRA_ARGS    more run-tests.pl options, e.g. "-p 9000:9099 --hearth-database embedded"
#
# It installs nothing: it checks what sytest needs and says what is missing. Writes results.tap,
# progress.log, summary.txt, failing-by-area.txt and passing.txt in the results folder; the servers'
# folders (config, hearth.log) are in its work/ subfolder. Exits with sytest's status: with the
# whitelist (the default when sytest-compat/whitelist exists), only a whitelisted test that fails
# fails the run.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")

use_whitelist=1
if [[ ${1:-} == --no-whitelist ]]; then use_whitelist=0; shift; fi
if [[ $# -lt 1 || ${1:-} == -h || ${1:-} == --help ]]; then
  sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 2
fi
sytest_dir=$(cd "$1" 2>/dev/null && pwd) || { echo "run.sh: no such folder: $1" >&2; exit 2; }
shift

perl5lib=${SYTEST_PERL5LIB:-/work/scratch/perl5lib}
if [[ -n ${SYTEST_RESULTS_DIR:-} ]]; then results=$SYTEST_RESULTS_DIR
elif [[ -d /work/scratch ]]; then results=/work/scratch/sytest-results
else results=/tmp/hearth-sytest-results; fi
export TIMEOUT_FACTOR=${TIMEOUT_FACTOR:-2}

# --- What sytest needs -------------------------------------------------------------------------
missing=()
[[ -f $sytest_dir/run-tests.pl && -f $sytest_dir/keys/ca.key ]] ||
  missing+=("sytest itself: $sytest_dir has no run-tests.pl or keys/ca.key")
for cmd in perl openssl node; do
  command -v "$cmd" >/dev/null || missing+=("the command '$cmd'")
done
[[ -d $repo/node_modules/tsx ]] || missing+=("Hearth's node modules: run 'npm ci' in $repo")
[[ -d $perl5lib ]] || missing+=("the stand-in folder $perl5lib (set SYTEST_PERL5LIB)")

# Module => the Debian package that has it (or 'stand-in' for the two without one).
perl_modules=(
  "Class::Method::Modifiers=libclass-method-modifiers-perl" "Data::Dump=libdata-dump-perl"
  "DBI=libdbi-perl" "DBD::Pg=libdbd-pg-perl" "Digest::HMAC_SHA1=libdigest-hmac-perl"
  "Email::Address::XS=libemail-address-xs-perl" "Email::MIME=libemail-mime-perl"
  "File::Slurper=libfile-slurper-perl" "Future=libfuture-perl" "IO::Async=libio-async-perl"
  "IO::Async::SSL=libio-async-ssl-perl" "IO::Socket::SSL=libio-socket-ssl-perl"
  "List::UtilsBy=liblist-utilsby-perl" "Module::Pluggable=libmodule-pluggable-perl"
  "Net::Async::HTTP=libnet-async-http-perl" "Net::SSLeay=libnet-ssleay-perl"
  "Struct::Dumb=libstruct-dumb-perl" "URI=liburi-perl" "YAML::XS=libyaml-libyaml-perl"
  "HTTP::Request=libhttp-message-perl" "JSON=libjson-perl" "Crypt::PK::Ed25519=libcryptx-perl"
  "IO::Async::Loop::Epoll=libio-async-loop-epoll-perl"
  "Crypt::Ed25519=stand-in" "Net::Async::HTTP::Server 0.09=stand-in"
)
debs=()
if command -v perl >/dev/null; then
  for entry in "${perl_modules[@]}"; do
    module=${entry%%=*}
    package=${entry#*=}
    if ! PERL5LIB="$perl5lib${PERL5LIB:+:$PERL5LIB}" perl -e "use $module; 1" 2>/dev/null; then
      if [[ $package == stand-in ]]; then
        missing+=("the Perl module $module: no Debian package; put it in $perl5lib (README.md tells how)")
      else
        missing+=("the Perl module $module (Debian package $package)")
        debs+=("$package")
      fi
    fi
  done
fi
if [[ " ${SYTEST_EXTRA_ARGS:-} " != *" --hearth-database embedded "* ]] && command -v perl >/dev/null; then
  pg_url=${SYTEST_HEARTH_PG_URL:-postgres://postgres@127.0.0.1:5432}
  SYTEST_HEARTH_PG_URL=$pg_url perl -MDBI -e '
    my ($user, $pw, $host, $port) =
      $ENV{SYTEST_HEARTH_PG_URL} =~ m{^postgres(?:ql)?://(?:([^:@/]*)(?::([^@/]*))?@)?([^:/]*)(?::(\d+))?/?$} or exit 1;
    DBI->connect("dbi:Pg:dbname=postgres;host=" . ($host || "127.0.0.1") . ";port=" . ($port || 5432),
      (length($user // "") ? $user : "postgres"), $pw, { PrintError => 0 }) or exit 1;' 2>/dev/null ||
    missing+=("a PostgreSQL server at $pg_url that may create databases (set SYTEST_HEARTH_PG_URL, or pass --hearth-database embedded in SYTEST_EXTRA_ARGS)")
fi

if [[ ${#missing[@]} -gt 0 ]]; then
  echo "run.sh: cannot run sytest yet. Missing:" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  if [[ ${#debs[@]} -gt 0 ]]; then
    echo "Install the Debian packages with:" >&2
    echo "  apt-get install --no-install-recommends ${debs[*]}" >&2
  fi
  exit 3
fi

# --- Run -------------------------------------------------------------------------------------------
mkdir -p "$results"
rm -rf "$results/work"
mkdir -p "$results/work"
whitelist_args=()
if [[ $use_whitelist == 1 && -f $here/whitelist ]]; then whitelist_args=(-W "$here/whitelist"); fi

commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n $(git -C "$repo" status --porcelain 2>/dev/null) ]] && commit="$commit (with uncommitted changes)"
echo "sytest against Hearth $commit; results in $results (progress: tail -f $results/progress.log)"

# shellcheck disable=SC2086 # SYTEST_EXTRA_ARGS is a list of options
(
  cd "$sytest_dir" &&
  PERL5LIB="$perl5lib${PERL5LIB:+:$PERL5LIB}" SYTEST_PLUGINS="$here" SYTEST_HEARTH_DIR="$repo" \
    perl run-tests.pl -I Hearth --bind-host 127.0.0.1 -O tap -a \
      --work-directory "$results/work" "${whitelist_args[@]}" ${SYTEST_EXTRA_ARGS:-} "$@" \
      >"$results/results.tap" 2>"$results/progress.log"
)
status=$?

{ echo "Hearth $commit, $(date -u '+%Y-%m-%d %H:%M UTC'), sytest exit status $status"; } >"$results/run-info.txt"
node "$here/summarize.mjs" "$results" "$here/whitelist"
echo
echo "Failing tests by area: $results/failing-by-area.txt"
echo "Passing tests (whitelist format): $results/passing.txt"
exit $status
