"""Handlers of the AWS provider's actions. The core's ActionRunner runs them as background
Operations (never on the GUI thread); they talk to the person only through ``ctx.interaction``
and say what to show through their return value."""

from __future__ import annotations

from gridclient.actions import ActionContext, ActionResult, Cancelled
from gridclient.interaction import Field
from providers.aws.errors import acting_on
from providers.aws.regions import by_region, ec2_for


def _lifecycle(ctx: ActionContext, call: str, verb: str) -> str:
    for region, elements in by_region(ctx.elements).items():  # each in the region it was listed in
        ec2 = ctx.token.client("ec2", region=region)
        with acting_on(elements):
            getattr(ec2, call)(InstanceIds=[e.id for e in elements])
    return f"{verb} {', '.join(e.label for e in ctx.elements)}."


def start_instances(ctx: ActionContext) -> str:
    return _lifecycle(ctx, "start_instances", "Starting")


def stop_instances(ctx: ActionContext) -> str:
    return _lifecycle(ctx, "stop_instances", "Stopping")


def reboot_instances(ctx: ActionContext) -> str:
    return _lifecycle(ctx, "reboot_instances", "Rebooting")


def terminate_instances(ctx: ActionContext) -> str:
    """Terminate, unless one of them is protected from termination: then nothing is, and the
    message says how to turn protection off."""
    from botocore.exceptions import ClientError

    from providers.aws.manage_access import protected_message, refuse_protected

    with acting_on(ctx.elements):
        refuse_protected(ctx)
    try:
        return _lifecycle(ctx, "terminate_instances", "Terminating")
    except ClientError as exc:  # protection turned on meanwhile, or not readable before
        if exc.response.get("Error", {}).get("Code") != "OperationNotPermitted":
            raise
        raise ValueError(protected_message([e.label for e in ctx.elements])) from None


def ssh_login(ctx: ActionContext) -> ActionResult:
    """Address, user and key from the instance: the terminal to open."""
    target = login_target(ctx, "SSH login")
    return ActionResult(message=f"Opening a terminal to {target.title()}.", terminal=target)


def login_target(ctx: ActionContext, title: str):
    """The instance's SSH target (address, user — asked once when the image does not tell — key,
    and the host key fingerprints it printed at first boot): for SSH login and for its files."""
    from providers.aws import ssh_login as sl

    inst_el = ctx.element
    ec2 = ec2_for(ctx)
    with acting_on(ctx.elements):
        res = ec2.describe_instances(InstanceIds=[inst_el.id])["Reservations"]
    instance = res[0]["Instances"][0]
    image = None
    if instance.get("ImageId"):
        try:
            imgs = ec2.describe_images(ImageIds=[instance["ImageId"]]).get("Images", [])
            image = imgs[0] if imgs else None
        except Exception:  # an image we may not describe only costs us the user-name guess
            image = None
    remembered = ctx.vo.settings.get("ssh_users", {}).get(instance.get("ImageId", ""))
    target, ask_user = sl.build_target(instance, image, ctx.vo.id, ctx.vo.settings, ctx.paths, remembered)
    if ask_user:
        answer = ctx.interaction.ask(
            title, [Field("user", "User name", required=True, default=target.user or "")],
            text=f"Which user logs into {inst_el.label}? (The image does not tell; it will be remembered.)",
        )
        if not answer or not answer.get("user"):
            raise Cancelled()
        target.user = answer["user"].strip()
        users = dict(ctx.vo.settings.get("ssh_users", {}))
        users[instance.get("ImageId", "")] = target.user
        ctx.remember["ssh_users"] = users
    if not target.key_file and instance.get("KeyName"):
        ctx.interaction.notify(
            "warning", title,
            f"The app holds no private key for the key pair “{instance['KeyName']}”; "
            "trying ssh-agent and your default keys.")
    # an unknown host key is compared with the fingerprints the instance printed at first boot
    target.console_fingerprints = sl.console_fingerprints(ec2, inst_el.id)
    return target


def browse_files(ctx: ActionContext) -> ActionResult:
    """Browse files…: the instance's home folder over SFTP, as a "Files" row under the instance
    (kept in the VO's settings, so it is there after a restart). Connects now, through the same
    SSH code as the terminal: an unknown host key is asked here, a changed one refused."""
    from gridclient.ssh.known_hosts import KnownHosts
    from gridclient.storage.sftp_tree import ssh_ref

    target = login_target(ctx, "Browse files")
    scheme = ctx.storage.scheme("sftp")
    root = scheme.add_target(target, ctx.interaction, KnownHosts(ctx.paths.known_hosts), vo_id=ctx.vo.id)
    home = scheme.home(root)
    files = dict(ctx.vo.settings.get("instance_files", {}))
    files[ctx.element.id] = {"uri": home.uri, "ssh": ssh_ref(target)}
    ctx.remember["instance_files"] = files
    return ActionResult(message=f"The files of {ctx.element.label}: {home.uri} (expand “Files” under it).")
