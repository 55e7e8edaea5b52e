"""The AWS / EC2-compatible provider: its manifest is data only — nothing here imports boto3.

Code is named as "module:attr" and imported on first use.
"""

from gridclient.interaction import Field
from gridclient.registry import (COMMAND_DELETE, GROUP_CONNECT, GROUP_CREATE, GROUP_DELETE, GROUP_EDIT,
                                 GROUP_LIFECYCLE, GROUP_SEARCH, Action, Category, NodeContributor, ProviderManifest, StateSource,
                                 StorageScheme, VOType)
from providers.aws import kinds as K

M = "providers.aws"
KEYS = ("credential_mode", ("keys",))
PROFILE = ("credential_mode", ("profile",))

AWS_FIELDS = (
    Field("region", "Region", kind="choice", required=True, default="us-east-1",
          choices_from=f"{M}.vo:region_names", editable=True,
          help="The region to browse. EC2-compatible clouds often use their own name."),
    Field("credential_mode", "Credentials", kind="choice", default="keys",
          choices=("keys", "profile"), editable=False,
          help="“keys”: an access key id and secret, kept in the OS keyring. "
               "“profile”: a named profile from ~/.aws/config or ~/.aws/credentials."),
    Field("access_key_id", "Access key id", required=True, when=KEYS, placeholder="AKIA…"),
    Field("secret_access_key", "Secret access key", kind="secret", required=True, when=KEYS),
    Field("session_token", "Session token (optional)", kind="secret", when=KEYS),
    Field("profile", "Profile", kind="choice", required=True, when=PROFILE,
          choices_from=f"{M}.vo:profile_names", editable=True),
    Field("endpoint_url", "Endpoint URL", kind="url", page="Endpoint",
          placeholder="https://ec2.example.org:8773 — empty for AWS",
          help="For EC2-compatible clouds: Eucalyptus, OpenStack's EC2 API, a local sandbox."),
    Field("proxy_url", "HTTP(S) proxy", kind="url", page="Endpoint",
          placeholder="http://proxy.example.org:3128"),
    Field("proxy_user", "Proxy user", page="Endpoint"),
    Field("proxy_password", "Proxy password", kind="secret", page="Endpoint"),
    Field("ssh_host_override", "SSH via host[:port]", page="Endpoint",
          help="Log into instances through this address instead of theirs (a bastion, NAT)."),
)

INSTANCE = frozenset({K.INSTANCE})
#: instance states that last; pending, stopping and shutting-down are followed until one of these
STABLE_INSTANCE_STATES = frozenset({"running", "stopped", "terminated"})
MA, AC = f"{M}.manage_access", f"{M}.access_checks"  # key pairs, security groups, tags, instance settings
KEY_NAME_FIELD = Field("name", "Key pair name", required=True, placeholder="my-laptop",
                       check=f"{AC}:key_name_problem", help="Instances launched with it are logged into with it.")
#: presigned URL lifetimes offered (seconds); SigV4 allows at most 7 days
EXPIRIES = {"15 minutes": 900, "1 hour": 3600, "1 day": 86400, "7 days": 7 * 86400}
MS = f"{M}.manage_storage"  # images, volumes, snapshots, Elastic IPs

manifest = ProviderManifest(
    id="aws",
    name="Amazon Web Services and EC2-compatible clouds",
    version="0.1.0",
    vo_types=(
        VOType(
            id="aws",
            label="Amazon Web Services / EC2-compatible",
            description="An AWS account, or an EC2/S3-compatible cloud (Eucalyptus, OpenStack's "
                        "EC2 API, a local sandbox) reached through its endpoint URL.",
            fields=AWS_FIELDS,
            token_factory=f"{M}.token:AwsToken",
            connection_test=f"{M}.token:test_connection",
            test_description="Checks the credentials with STS GetCallerIdentity (or EC2 DescribeRegions "
                             "where the endpoint has no STS).",
            explain_error=f"{M}.errors:explain",
            validator=f"{M}.vo:validate",
        ),
    ),
    node_contributors=(
        NodeContributor(
            vo_type="aws",
            categories=(
                Category(K.COMPUTING, "Computing", "computing"),
                Category(K.SERVICES, "Services", "services"),
                Category(K.STORAGE, "Storage", "storage"),
            ),
            loaders={
                K.COMPUTING: f"{M}.nodes:load_computing",
                K.ALL_REGIONS: f"{M}.regions:load_all_regions",  # every enabled region, in parallel
                # an instance's files (Browse files…), over the core's sftp scheme
                "sftp.root": "gridclient.storage.sftp_tree:load_folder",
                "sftp.folder": "gridclient.storage.sftp_tree:load_folder",
                K.SERVICES: f"{M}.nodes:load_services",
                K.STORAGE: f"{M}.nodes:load_storage",
                K.IMAGES: f"{M}.nodes:load_images",
                K.CATALOG: f"{M}.catalog:load",
                K.KEYPAIRS: f"{M}.nodes:load_keypairs",
                K.SECURITY_GROUPS: f"{M}.nodes:load_security_groups",
                K.SECURITY_GROUP: f"{M}.nodes:load_security_group_rules",
                K.REGIONS: f"{M}.nodes:load_regions",
                K.VOLUMES: f"{M}.nodes:load_volumes",
                K.SNAPSHOTS: f"{M}.nodes:load_snapshots",
                K.INSTANCE: f"{M}.nodes:load_instance",
                K.ADDRESSES: f"{M}.nodes:load_addresses",
                K.INSTANCE_TYPES: f"{M}.nodes:load_instance_types",
                K.REGION: f"{M}.nodes:load_zones",
                K.BUCKET: f"{M}.nodes:load_bucket",
                K.FOLDER: f"{M}.nodes:load_bucket",
            },
        ),
    ),
    storage_schemes=(StorageScheme("s3", f"{M}.s3:S3Scheme", folder_kinds=frozenset({K.BUCKET, K.FOLDER}),
                                   file_kinds=frozenset({K.OBJECT}), root_kinds=frozenset({K.BUCKET})),),
    # live state: after Start, Stop, Reboot, Terminate (follows_state) the core polls these
    state_sources=(StateSource("aws", INSTANCE, f"{M}.nodes:instance_states", STABLE_INSTANCE_STATES),),
    actions=(
        Action("aws.ec2.launch", "Launch instance…", f"{M}.launch:launch", frozenset({K.COMPUTING}),
               icon="start", group=GROUP_CREATE, refreshes=""),
        Action("aws.ec2.launch_image", "Launch from this image…", f"{M}.launch:launch", frozenset({K.IMAGE}),
               icon="start", states=frozenset({"available"}), group=GROUP_CREATE, refreshes=""),
        Action("aws.ec2.ssh", "SSH login…", f"{M}.actions:ssh_login", INSTANCE,
               icon="terminal", states=frozenset({"running"}), refreshes="",
               group=GROUP_CONNECT),
        # the instance's home folder over SFTP, as "Files" under it (reloaded: refreshes="self")
        Action("aws.ec2.files", "Browse files…", f"{M}.actions:browse_files", INSTANCE,
               icon="folder", states=frozenset({"running"}), refreshes="self", group=GROUP_CONNECT),
        # the power actions reload nothing: their rows follow the state (follows_state) instead
        Action("aws.ec2.start", "Start", f"{M}.actions:start_instances", INSTANCE, selection="+",
               icon="start", states=frozenset({"stopped"}), group=GROUP_LIFECYCLE,
               refreshes="", follows_state=True),
        Action("aws.ec2.stop", "Stop", f"{M}.actions:stop_instances", INSTANCE, selection="+",
               icon="stop", states=frozenset({"running"}), group=GROUP_LIFECYCLE,
               refreshes="", follows_state=True,
               confirm="Stop {labels}? Data on instance-store volumes is lost."),
        Action("aws.ec2.reboot", "Reboot", f"{M}.actions:reboot_instances", INSTANCE,
               selection="+", icon="reboot", states=frozenset({"running"}), group=GROUP_LIFECYCLE,
               refreshes="", follows_state=True, confirm="Reboot {labels}?"),
        Action("aws.ec2.terminate", "Terminate", f"{M}.actions:terminate_instances", INSTANCE,
               selection="+", icon="terminate", group=GROUP_LIFECYCLE, command=COMMAND_DELETE,
               refreshes="", follows_state=True,
               states=frozenset({"running", "stopped", "pending", "stopping"}),
               confirm="Terminate {labels}? This cannot be undone: each instance is deleted, "
                       "with its root volume."),
        # the form is the handler's: a search as typed once the catalog is fetched, else a name
        Action("aws.catalog.search", "Search image catalog…", f"{M}.catalog:search_catalog",
               frozenset({K.CATALOG}), icon="search", refreshes="self", group=GROUP_SEARCH),
        Action("aws.catalog.fetch", "Fetch image catalog…", f"{M}.catalog:fetch_catalog",
               frozenset({K.CATALOG}), icon="refresh", refreshes="self", group=GROUP_SEARCH),
        Action("aws.s3.new_bucket", "New bucket…", f"{M}.s3_actions:new_bucket", frozenset({K.STORAGE}),
               icon="bucket", group=GROUP_CREATE, refreshes="self",
               fields=(Field("name", "Bucket name", required=True, placeholder="my-data-2026",
                             check=f"{M}.s3_actions:bucket_name_problem",
                             help="3–63 characters: lower-case letters, digits, “-” and “.”; "
                                  "unique across all of S3."),
                       Field("region", "Region", kind="choice", choices_from=f"{M}.vo:region_names",
                             help="Empty: the VO's region."))),
        Action("aws.s3.open_bucket", "Open bucket…", f"{M}.s3_actions:open_bucket", frozenset({K.STORAGE}),
               icon="bucket", group=GROUP_CONNECT, refreshes="self",
               fields=(Field("uri", "Bucket or s3://bucket/prefix", required=True,
                             check=f"{M}.s3_actions:open_problem",
                             help="For buckets this account may use but not list."),)),
        Action("aws.s3.delete_bucket", "Delete bucket…", f"{M}.s3_actions:delete_bucket",
               frozenset({K.BUCKET}), icon="delete", group=GROUP_DELETE, refreshes="parent"),
        Action("aws.s3.presign", "Copy presigned URL…", f"{M}.s3_actions:presign",
               frozenset({K.OBJECT, K.BUCKET, K.FOLDER}), icon="copy", group=GROUP_EDIT, refreshes="",
               fields=(Field("method", "For", kind="choice", editable=False, default="download (GET)",
                             choices=("download (GET)", "upload (PUT)")),
                       Field("name", "Name to upload as", placeholder="report.pdf",
                             when=("method", ("upload (PUT)",)),
                             help="On a bucket or folder: the name the uploaded file will have."),
                       Field("expiry", "Valid for", kind="choice", editable=False, default="1 hour",
                             choices=tuple(EXPIRIES)))),
        Action("aws.s3.filter", "Filter…", f"{M}.s3_actions:filter_folder", frozenset({K.BUCKET, K.FOLDER}),
               icon="search", group=GROUP_SEARCH, refreshes="self",
               fields=(Field("filter", "Names beginning with", placeholder="2024-06",
                             help="Asked of the server: fast in a bucket of millions. Empty shows all."),)),
        Action("aws.s3.details", "Details", f"{M}.s3_actions:details", frozenset({K.OBJECT}),
               icon="info", group=GROUP_EDIT, refreshes=""),
        Action("aws.s3.tags", "Edit tags…", f"{M}.s3_actions:edit_tags", frozenset({K.OBJECT, K.BUCKET}),
               icon="edit", group=GROUP_EDIT, refreshes=""),
        Action("aws.s3.versions", "Versions…", f"{M}.s3_actions:versions", frozenset({K.OBJECT}),
               icon="retry", group=GROUP_EDIT, refreshes="parent"),
        # -- images, volumes, snapshots, Elastic IPs (manage_storage.py); the handlers that confirm
        # themselves check first (attached? associated? whose image?) and then say how much is lost
        Action("aws.ec2.create_image", "Create image…", f"{MS}:create_image", INSTANCE, icon="image",
               states=frozenset({"running", "stopped"}), group=GROUP_CREATE, refreshes="",
               fields=(Field("name", "Image name", required=True, placeholder="web-1 2026-12-01",
                             check=f"{MS}:ami_name_problem",
                             help="3–128 characters: letters, digits, spaces and ( ) [ ] . / - ' @ _; "
                                  "unique among your images in the region."),
                       Field("description", "Description", check=f"{MS}:image_description_problem"),
                       Field("no_reboot", "No reboot", kind="bool", default=False,
                             help="Without a reboot the image is taken from a running system: its file "
                                  "systems are as after a power cut."))),
        Action("aws.ec2.deregister_image", "Deregister image…", f"{MS}:deregister_images", frozenset({K.IMAGE}),
               selection="+", icon="delete", group=GROUP_DELETE, command=COMMAND_DELETE),
        Action("aws.ebs.create_volume", "Create volume…", f"{MS}:create_volume", frozenset({K.VOLUMES}),
               icon="volume", group=GROUP_CREATE, refreshes="self"),
        Action("aws.ebs.attach", "Attach…", f"{MS}:attach_volume", frozenset({K.VOLUME}), icon="instance",
               states=frozenset({"available"}), group=GROUP_LIFECYCLE),
        Action("aws.ebs.detach", "Detach", f"{MS}:detach_volumes", frozenset({K.VOLUME}), selection="+",
               icon="stop", states=frozenset({"in-use"}), group=GROUP_LIFECYCLE,
               confirm="Detach {labels} ({count} selected)? Unmount its file systems inside the instance "
                       "first, or data being written is lost."),
        Action("aws.ebs.create_snapshot", "Create snapshot…", f"{MS}:create_snapshot", frozenset({K.VOLUME}),
               icon="snapshot", states=frozenset({"available", "in-use"}), group=GROUP_CREATE, refreshes="",
               fields=(Field("name", "Name (optional)", placeholder="data before upgrade"),
                       Field("description", "Description", check=f"{MS}:image_description_problem"))),
        Action("aws.ebs.delete_volume", "Delete volume", f"{MS}:delete_volumes", frozenset({K.VOLUME}),
               selection="+", icon="delete", group=GROUP_DELETE, command=COMMAND_DELETE),
        Action("aws.ebs.volume_from_snapshot", "Create volume from this snapshot…",
               f"{MS}:create_volume_from_snapshot", frozenset({K.SNAPSHOT}), icon="volume",
               states=frozenset({"completed"}), group=GROUP_CREATE, refreshes=""),
        Action("aws.ebs.delete_snapshot", "Delete snapshot", f"{MS}:delete_snapshots", frozenset({K.SNAPSHOT}),
               selection="+", icon="delete", group=GROUP_DELETE, command=COMMAND_DELETE),
        Action("aws.eip.allocate", "Allocate Elastic IP…", f"{MS}:allocate_address", frozenset({K.ADDRESSES}),
               icon="address", group=GROUP_CREATE, refreshes="self",
               confirm="Allocate a new Elastic IP address? AWS charges for every public IPv4 address by the "
                       "hour, associated or not, until it is released.",
               fields=(Field("name", "Name (optional)", placeholder="web front door"),)),
        Action("aws.eip.associate", "Associate…", f"{MS}:associate_address", frozenset({K.ADDRESS}),
               icon="instance", states=frozenset({"unassociated"}), group=GROUP_LIFECYCLE),
        Action("aws.eip.disassociate", "Disassociate", f"{MS}:disassociate_addresses", frozenset({K.ADDRESS}),
               selection="+", icon="stop", states=frozenset({"associated"}), group=GROUP_LIFECYCLE,
               confirm="Disassociate {labels} ({count} selected)? Its instance gets another public address "
                       "(or none), and the Elastic IP no longer reaches it."),
        Action("aws.eip.release", "Release address", f"{MS}:release_addresses", frozenset({K.ADDRESS}),
               selection="+", icon="delete", group=GROUP_DELETE, command=COMMAND_DELETE),
        # -- access: key pairs, security groups, tags, instance settings (manage_access.py) --
        Action("aws.ec2.keypair.create", "Create key pair…", f"{MA}:create_key_pair", frozenset({K.KEYPAIRS}),
               icon="key", group=GROUP_CREATE, refreshes="self",
               fields=(KEY_NAME_FIELD,
                       Field("type", "Key type", kind="choice", choices=("ed25519", "rsa"), default="ed25519",
                             editable=False, help="RSA for Windows instances and older EC2-compatible clouds."),
                       Field("folder", "Save the private key in", kind="folder", default="~/.ssh", required=True,
                             help="As NAME.pem, readable by you only (0600); never over a file that "
                                  "exists. The app keeps a copy for SSH login."))),
        Action("aws.ec2.keypair.import", "Import public key…", f"{MA}:import_key_pair", frozenset({K.KEYPAIRS}),
               icon="upload", group=GROUP_CREATE, refreshes="self",
               fields=(KEY_NAME_FIELD,
                       Field("source", "From", kind="choice", choices=("a file", "pasted text"),
                             default="a file", editable=False),
                       Field("file", "Public key file", kind="path", default="~/.ssh/id_ed25519.pub",
                             required=True, when=("source", ("a file",)), check=f"{AC}:public_key_file_problem"),
                       Field("text", "Public key", required=True, when=("source", ("pasted text",)),
                             placeholder="ssh-ed25519 AAAA… me@laptop", check=f"{AC}:public_key_problem",
                             help="The one line of a .pub file (OpenSSH), or an RFC 4716 block."))),
        Action("aws.ec2.keypair.delete", "Delete", f"{MA}:delete_key_pairs", frozenset({K.KEYPAIR}),
               selection="+", icon="delete", group=GROUP_DELETE, command=COMMAND_DELETE,
               confirm="Delete {labels}? No new instance can be launched with a deleted key pair; "
                       "instances running keep the public key they have."),
        Action("aws.ec2.sg.create", "Create security group…", f"{MA}:create_security_group",
               frozenset({K.SECURITY_GROUPS}), icon="firewall", group=GROUP_CREATE, refreshes="self",
               fields=(Field("name", "Name", required=True, placeholder="analysis-ssh",
                             check=f"{AC}:group_name_problem"),
                       Field("description", "Description", required=True, placeholder="SSH for the analysis boxes",
                             check=f"{AC}:description_problem"),
                       Field("ssh", "Allow SSH from my address", kind="bool", default=False,
                             help="Your public address is looked up and shown, to confirm or change."))),
        Action("aws.ec2.sg.add_rule", "Add rule…", f"{MA}:add_rule", frozenset({K.SECURITY_GROUP}),
               icon="firewall", group=GROUP_CREATE, refreshes="self",
               fields=(Field("direction", "Direction", kind="choice", choices=("inbound", "outbound"),
                             default="inbound", editable=False),
                       Field("protocol", "Protocol", kind="choice", choices=("tcp", "udp", "icmp", "all"),
                             default="tcp", editable=False, help="icmp: every type; all: every protocol and port."),
                       Field("ports", "Port or range", required=True, placeholder="22 or 8000-8080",
                             when=("protocol", ("tcp", "udp")), check=f"{AC}:ports_problem"),
                       Field("source", "From (inbound) / to (outbound)", required=True,
                             placeholder="203.0.113.7/32, 2001:db8::/64 or sg-0123abcd",
                             check=f"{AC}:source_problem", help="An IPv4 or IPv6 CIDR, or another group's id."),
                       Field("description", "Description", placeholder="SSH from the office",
                             check=f"{AC}:description_problem"))),
        Action("aws.ec2.sg.allow_ssh", "Allow SSH from my address…", f"{MA}:allow_ssh_from_me",
               frozenset({K.SECURITY_GROUP}), icon="ssh", group=GROUP_CREATE, refreshes="self"),
        Action("aws.ec2.sg.delete", "Delete", f"{MA}:delete_security_groups", frozenset({K.SECURITY_GROUP}),
               selection="+", icon="delete", group=GROUP_DELETE, command=COMMAND_DELETE),
               # no confirm: the handler first looks what uses each group, then asks for the free ones
        Action("aws.ec2.sg.remove_rule", "Remove rule", f"{MA}:remove_rules", frozenset({K.SG_RULE}),
               selection="+", icon="delete", group=GROUP_DELETE, command=COMMAND_DELETE,
               confirm="Remove {labels}? What the removed rules let through is refused from now on."),
        Action("aws.ec2.tags", "Edit tags…", f"{MA}:edit_tags",
               frozenset({K.INSTANCE, K.IMAGE, K.VOLUME, K.SNAPSHOT, K.SECURITY_GROUP, K.KEYPAIR}),
               icon="edit", group=GROUP_EDIT),
        Action("aws.ec2.change_type", "Change instance type…", f"{MA}:change_instance_type", INSTANCE,
               icon="edit", states=frozenset({"stopped"}), group=GROUP_EDIT),
        Action("aws.ec2.protection", "Termination protection…", f"{MA}:termination_protection", INSTANCE,
               selection="+", icon="edit", group=GROUP_EDIT, refreshes=""),
        Action("aws.ec2.console", "Console output", f"{MA}:console_output", INSTANCE, icon="console",
               group=GROUP_CONNECT, refreshes=""),
    ),
)
