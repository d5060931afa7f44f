# sytest plugin that runs Hearth as sytest's homeservers (`run-tests.pl -I Hearth`).
#
# sytest finds it through SYTEST_PLUGINS=<this repo>/sytest-compat (it loads factories from
# $SYTEST_PLUGINS/*/lib). It holds two packages: the factory sytest asks for servers, and the
# homeserver class that writes Hearth's configuration, starts `hearth start` and waits for its port.
# See sytest-compat/README.md.

use strict;
use warnings;

package SyTest::Homeserver::Hearth;
use base qw( SyTest::Homeserver );

use Carp;
use Cwd qw( abs_path getcwd );
use File::Path qw( remove_tree );
use JSON ();

use SyTest::SSL qw( ensure_ssl_key create_ssl_cert );

sub _init
{
   my $self = shift;
   my ( $args ) = @_;

   $self->{$_} = delete $args->{$_} for qw(
      hearth_dir node database pg_url log_level
   );
   defined $self->{hearth_dir} or croak "Need a hearth_dir";

   $self->SUPER::_init( $args );

   # One TLS port serves the client and the federation APIs, as sytest's server_name host:port needs.
   $self->{port} = main::alloc_port( "hearth[$self->{hs_index}]" );
}

sub server_name
{
   my $self = shift;
   return "$self->{bind_host}:$self->{port}";
}

sub federation_host { $_[0]->{bind_host} }

sub federation_port { $_[0]->{port} }

sub secure_port { $_[0]->{port} }

sub public_baseurl
{
   my $self = shift;
   return "https://$self->{bind_host}:$self->{port}";
}

sub start
{
   my $self = shift;

   my $hs_dir = $self->{hs_dir};
   my $output = $self->{output};
   my $idx = $self->{hs_index};

   # Certificate for bind_host, signed by sytest's CA (keys/ca.crt; run-tests.pl runs from sytest's root).
   my $cert_file = "$hs_dir/tls.crt";
   my $key_file  = "$hs_dir/tls.key";
   ensure_ssl_key( $key_file );
   create_ssl_cert( $cert_file, $key_file, $self->{bind_host} );

   # Fresh state on every start: a new data folder (signing key, embedded database) and database.
   remove_tree( "$hs_dir/data" );
   my $db_url = $self->{database} eq 'embedded' ? undef : $self->_recreate_pg_database;

   my $config = $self->_config( $cert_file, $key_file, $db_url );
   my $config_file = $self->write_yaml_file( "hearth.yaml" => $config );

   # JSON log lines go to hearth.log in the server folder; stderr stays with sytest, which prints
   # the last lines when the process dies (a configuration error, a crash on start).
   my $log_file = "$hs_dir/hearth.log";
   my @command = (
      'sh', '-c', 'exec "$@" >>"$SYTEST_HEARTH_LOG"', 'sh',
      $self->{node}, '--import', 'tsx', 'src/main.ts', 'start', '--config', $config_file,
   );

   # Hearth reads HEARTH_* variables as configuration; keep the caller's out of the test servers.
   my %env = map { $_ => $ENV{$_} } grep { !/^HEARTH_/ } keys %ENV;
   $env{SYTEST_HEARTH_LOG} = $log_file;

   $output->diag( "Starting Hearth server-$idx on port $self->{port} (log: $log_file)" );

   return $self->_start_process_and_await_connectable(
      setup => [
         chdir => $self->{hearth_dir},
         env   => \%env,
      ],
      command      => \@command,
      connect_host => $self->{bind_host},
      connect_port => $self->{port},
      name         => "hearth-$idx",
   )->else( sub {
      die "Unable to start Hearth server-$idx: $_[0] (see $log_file)\n";
   })->on_done( sub {
      $output->diag( "Started Hearth server-$idx" );
   });
}

# Hearth's configuration file (src/platform/config/schema.ts), as sytest needs the server.
sub _config
{
   my $self = shift;
   my ( $cert_file, $key_file, $db_url ) = @_;

   my $hs_dir = $self->{hs_dir};
   my $smtp = $self->{smtp_server_config};
   my $recaptcha = $self->{recaptcha_config};
   my $cas = $self->{cas_config};

   return {
      server_name    => $self->server_name,
      public_baseurl => $self->public_baseurl,
      listen => {
         host => $self->{bind_host},
         port => $self->{port},
         tls  => { cert_file => $cert_file, key_file => $key_file },
      },
      data_dir => "$hs_dir/data",
      database => { url => $db_url },
      log      => { level => $self->{log_level} },

      enable_registration        => JSON::true,
      registration_shared_secret => "reg_secret",
      allow_guest_access         => JSON::true,
      rate_limits                => { enabled => JSON::false },
      # sytest's own federation server knows room versions up to 11; Synapse's default is 10.
      default_room_version       => "10",
      # sytest's device keys are placeholders ("ed25519+key" signed "self+signature").
      e2ee                       => { verify_device_keys => JSON::false },
      # sytest's media tests download at the deprecated unauthenticated /_matrix/media/v3 paths.
      media                      => { serve_unauthenticated => JSON::true },

      app_service_config_files => $self->{app_service_config_files} // [],
      ( $smtp ? ( email => {
         smtp_host  => $smtp->{host},
         smtp_port  => $smtp->{port},
         notif_from => 'synapse@localhost',
      } ) : () ),
      # CAS single sign-on against sytest's own stand-in CAS server (12login/02cas.pl). Its tests sign
      # in as users registered with a password, expecting Synapse's CAS behaviour: the same account.
      ( $cas ? ( sso => { cas => { server_url => $cas->{server_url}, allow_existing_users => JSON::true } } ) : () ),
      ( $recaptcha ? ( recaptcha => {
         public_key     => $recaptcha->{public_key},
         private_key    => $recaptcha->{private_key},
         siteverify_api => $recaptcha->{siteverify_api},
      } ) : () ),
      # sytest's fake servers are 127.0.0.1:PORT with certificates from its own CA.
      federation => {
         ca_files                => [ abs_path( getcwd() . "/keys/ca.crt" ) ],
         verify_tls              => JSON::false,
         allow_private_addresses => JSON::true,
      },
      # The URL preview test serves its page from sytest's own listener on 127.0.0.1.
      url_previews => { allow_private_addresses => JSON::true },
   };
}

# Drops and creates this server's PostgreSQL database; returns its URL. The name carries the port,
# so sytest runs on different port ranges (-p) do not share a database.
sub _recreate_pg_database
{
   my $self = shift;

   require DBI;
   require DBD::Pg;

   my ( $user, $password, $host, $port ) =
      $self->{pg_url} =~ m{^postgres(?:ql)?://(?:([^:@/]*)(?::([^@/]*))?@)?([^:/]*)(?::(\d+))?/?$}
      or die "Cannot read --hearth-pg-url '$self->{pg_url}': expected postgres://USER[:PASSWORD]\@HOST[:PORT]\n";
   $user = 'postgres' unless length( $user // '' );
   $host ||= '127.0.0.1';
   $port ||= 5432;
   my $dbname = "sytest_hearth_$self->{port}";

   $self->{output}->diag( "Recreating PostgreSQL database $dbname on $host:$port" );

   my $dbh = DBI->connect( "dbi:Pg:dbname=postgres;host=$host;port=$port", $user, $password,
      { RaiseError => 1, PrintError => 0, PrintWarn => 0 } );
   $dbh->do( "DROP DATABASE IF EXISTS $dbname WITH (FORCE)" );
   $dbh->do( "CREATE DATABASE $dbname" );
   $dbh->disconnect;

   my $userinfo = defined $password ? "$user:$password" : $user;
   return "postgres://$userinfo\@$host:$port/$dbname";
}


package SyTest::HomeserverFactory::Hearth;
use base qw( SyTest::HomeserverFactory );

use Cwd qw( abs_path );
use File::Basename qw( dirname );
use File::Spec;

sub _init
{
   my $self = shift;

   # This file is <repo>/sytest-compat/plugin/lib/SyTest/HomeserverFactory/Hearth.pm.
   my $repo = abs_path( dirname( __FILE__ ) . "/../../../../.." );

   $self->{args} = {
      hearth_dir => $ENV{SYTEST_HEARTH_DIR} // $repo,
      node       => _which( 'node' ) // 'node',
      database   => 'postgres',
      pg_url     => $ENV{SYTEST_HEARTH_PG_URL} // 'postgres://postgres@127.0.0.1:5432',
      log_level  => 'info',
   };

   # sytest runs tests marked implementation_specific only for the named implementation. 'dendrite'
   # turns on the shared-secret registration tests (/_synapse/admin/v1/register, which Hearth serves)
   # and one federation test, without the Synapse-only admin tests (purge_history, room shutdown).
   $self->{implementation_name} = 'dendrite';

   $self->SUPER::_init( @_ );
}

sub implementation_name { $_[0]->{implementation_name} }

sub get_options
{
   my $self = shift;

   return (
      'hearth-dir=s'          => \$self->{args}{hearth_dir},
      'hearth-node=s'         => \$self->{args}{node},
      'hearth-database=s'     => \$self->{args}{database},
      'hearth-pg-url=s'       => \$self->{args}{pg_url},
      'hearth-log-level=s'    => \$self->{args}{log_level},
      'hearth-implementation-name=s' => \$self->{implementation_name},
      $self->SUPER::get_options(),
   );
}

sub print_usage
{
   print STDERR <<'EOF';
   --hearth-dir DIR               - Hearth's checkout (default: the one holding this plugin)
   --hearth-node PATH             - the node binary (default: node on PATH)
   --hearth-database KIND         - postgres (default: a fresh database per server) or embedded
                                    (PGlite in the server folder; slower to start)
   --hearth-pg-url URL            - PostgreSQL server to create databases on
                                    (default postgres://postgres@127.0.0.1:5432)
   --hearth-log-level LEVEL       - Hearth's log level (default info)
   --hearth-implementation-name N - what sytest's implementation_specific tests see (default dendrite)
EOF
}

sub create_server
{
   my $self = shift;
   my %params = ( @_, %{ $self->{args} } );

   $params{database} =~ m/^(postgres|embedded)$/
      or die "--hearth-database must be postgres or embedded, not '$params{database}'\n";

   return SyTest::Homeserver::Hearth->new( %params );
}

sub _which
{
   my ( $name ) = @_;
   for my $dir ( File::Spec->path ) {
      my $path = "$dir/$name";
      return $path if -x $path && !-d $path;
   }
   return undef;
}

1;
