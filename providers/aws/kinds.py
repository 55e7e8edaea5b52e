"""The element kinds of the AWS provider: the ids its manifest, its loaders and its actions share.

A kind chooses an element's loader, its actions and its icon; the tree's cache keys hold it too.
"""

# top-level categories of a project on an AWS VO
COMPUTING = "aws.computing"
SERVICES = "aws.services"
STORAGE = "aws.storage"

# Computing
ALL_REGIONS = "aws.all_regions"  # the instances of every enabled region, asked in parallel (regions.py)

# Services
IMAGES = "aws.images"  # the account's own AMIs
CATALOG = "aws.catalog"  # public images, for a search the person typed
KEYPAIRS = "aws.keypairs"
SECURITY_GROUPS = "aws.securitygroups"
REGIONS = "aws.regions"
ADDRESSES = "aws.addresses"  # Elastic IPs
INSTANCE_TYPES = "aws.instancetypes"  # flavors

# Storage
VOLUMES = "aws.volumes"
SNAPSHOTS = "aws.snapshots"  # the account's own EBS snapshots
BUCKET = "aws.s3.bucket"
FOLDER = "aws.s3.folder"

# leaves
INSTANCE = "aws.ec2.instance"
IMAGE = "aws.ec2.image"
KEYPAIR = "aws.ec2.keypair"
SECURITY_GROUP = "aws.ec2.securitygroup"  # its children: its rules
SG_RULE = "aws.ec2.sgrule"  # one rule of a group: a protocol, ports and one source or destination
REGION = "aws.region"
VOLUME = "aws.ec2.volume"
SNAPSHOT = "aws.ec2.snapshot"
ADDRESS = "aws.ec2.address"  # an Elastic IP: "associated" or "unassociated"
INSTANCE_TYPE = "aws.ec2.instancetype"
ZONE = "aws.zone"  # an availability zone, under its region
REGION_ROW = "aws.all_regions.region"  # under All regions: a region's heading (its count), or why it failed
OBJECT = "aws.s3.object"
