"""The demo sandbox as a provider of its own: what ``gridclient --demo`` starts.

A stand-in for an AWS account on this machine only: moto's server on 127.0.0.1 seeded with
instances, images, key pairs, security groups and buckets, a loopback SSH endpoint that gives the
demo instances a real shell, and a throwaway workspace bound to them. None of it is what a real
AWS user runs, so it is not part of the AWS provider; it needs moto, an optional extra
(``pip install 'gridclient[demo]'``). The manifest is data only: nothing here imports moto.
"""

from gridclient.registry import ProviderManifest, Sandbox

manifest = ProviderManifest(
    id="sandbox",
    name="Demo sandbox (moto on 127.0.0.1, never contacts AWS)",
    version="0.1.0",
    sandboxes=(
        Sandbox("aws-moto", "AWS on moto, with SSH on loopback", "providers.sandbox.cloud:DemoSandbox",
                description="Two regions of instances, images, key pairs, security groups, volumes, a "
                            "snapshot, an Elastic IP and three buckets, served by moto on 127.0.0.1; SSH "
                            "login opens a local shell."),
    ),
)
