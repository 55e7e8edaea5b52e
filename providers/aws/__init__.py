"""The AWS / EC2-compatible provider: its manifest is data only — nothing here imports boto3.

Code is named as "module:attr" and imported on first use.
"""

from gridclient.interaction import Field
from gridclient.registry import (COMMAND_DELETE, GROUP_CONNECT, GROUP_CREATE, GROUP_DELETE, GROUP_EDIT,
                                 GROUP_LIFECYCLE, GROUP_SEARCH, Action, Category, NodeContributor, ProviderManifest, StorageScheme,
                                 VOType)
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
#: presigned URL lifetimes offered (seconds); SigV4 allows at most 7 days
EXPIRIES = {"15 minutes": 900, "1 hour": 3600, "1 day": 86400, "7 days": 7 * 86400}

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
                K.SERVICES: f"{M}.nodes:load_services",
                K.STORAGE: f"{M}.nodes:load_storage",
                K.IMAGES: f"{M}.nodes:load_images",
                K.CATALOG: f"{M}.nodes:load_catalog",
                K.KEYPAIRS: f"{M}.nodes:load_keypairs",
                K.SECURITY_GROUPS: f"{M}.nodes:load_security_groups",
                K.REGIONS: f"{M}.nodes:load_regions",
                K.VOLUMES: f"{M}.nodes:load_volumes",
                K.BUCKET: f"{M}.nodes:load_bucket",
                K.FOLDER: f"{M}.nodes:load_bucket",
            },
        ),
    ),
    storage_schemes=(StorageScheme("s3", f"{M}.s3:S3Scheme", folder_kinds=frozenset({K.BUCKET, K.FOLDER}),
                                   file_kinds=frozenset({K.OBJECT}), root_kinds=frozenset({K.BUCKET})),),
    actions=(
        Action("aws.ec2.ssh", "SSH login…", f"{M}.actions:ssh_login", INSTANCE,
               icon="terminal", states=frozenset({"running"}), refreshes="",
               group=GROUP_CONNECT),
        Action("aws.ec2.start", "Start", f"{M}.actions:start_instances", INSTANCE, selection="+",
               icon="start", states=frozenset({"stopped"}), group=GROUP_LIFECYCLE),
        Action("aws.ec2.stop", "Stop", f"{M}.actions:stop_instances", INSTANCE, selection="+",
               icon="stop", states=frozenset({"running"}), group=GROUP_LIFECYCLE,
               confirm="Stop {labels}? Data on instance-store volumes is lost."),
        Action("aws.ec2.reboot", "Reboot", f"{M}.actions:reboot_instances", INSTANCE,
               selection="+", icon="reboot", states=frozenset({"running"}), group=GROUP_LIFECYCLE,
               confirm="Reboot {labels}?"),
        Action("aws.ec2.terminate", "Terminate", f"{M}.actions:terminate_instances", INSTANCE,
               selection="+", icon="terminate", group=GROUP_LIFECYCLE, command=COMMAND_DELETE,
               states=frozenset({"running", "stopped", "pending", "stopping"}),
               confirm="Terminate {labels}? This cannot be undone: each instance is deleted, "
                       "with its root volume."),
        Action("aws.catalog.search", "Search image catalog…", f"{M}.actions:search_catalog",
               frozenset({K.CATALOG}), icon="search", refreshes="self",
               fields=(Field("query", "Image name contains", required=True,
                             placeholder="ubuntu 24.04"),
                       Field("owner", "Owner", kind="choice", default="amazon",
                             choices=("amazon", "aws-marketplace", "self", "any"))),
               group=GROUP_SEARCH),
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
    ),
)
