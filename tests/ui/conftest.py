from __future__ import annotations

import pytest

from gridclient.workbench import Workbench
from gridclient.workspace import GridProject


def seed_cloud(boto) -> dict:
    """A small account on the moto server: instances in two states, an AMI, buckets, folders."""
    ec2 = boto("ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    run = ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2, InstanceType="t3.micro",
                            TagSpecifications=[{"ResourceType": "instance",
                                                "Tags": [{"Key": "Name", "Value": "web"}]}])
    ids = [i["InstanceId"] for i in run["Instances"]]
    ec2.stop_instances(InstanceIds=[ids[1]])
    ami = ec2.create_image(InstanceId=ids[0], Name="my-golden-image")["ImageId"]
    s3 = boto("s3")
    s3.create_bucket(Bucket="alpha-bucket")
    s3.create_bucket(Bucket="beta-bucket")
    for key in ("docs/a.txt", "docs/b.txt", "docs/deep/c.txt", "readme.md"):
        s3.put_object(Bucket="alpha-bucket", Key=key, Body=key.encode())
    return {"instances": ids, "ami": ami}


@pytest.fixture
def cloud(boto):
    return seed_cloud(boto)


@pytest.fixture
def workbench(app_paths, keyring_backend, moto):
    wb = Workbench(app_paths)
    vo = wb.save_vo("Sandbox", "aws", {"region": "us-east-1", "credential_mode": "keys",
                                        "access_key_id": "AKIDTEST", "secret_access_key": "not-a-real-secret",
                                        "endpoint_url": moto})
    wb.workspace.add_project(GridProject("Sandbox project", vo.id))
    yield wb
    wb.close()
