"""Procedural bodies: joint rotations and the standing, sitting and lying poses built from them
(the postures set draws them; the exercise and dive generators reuse the limb helpers)."""
from __future__ import annotations

import math

import numpy as np

from .mocap import Pose, quat_axis_angle, quat_mul
from .scene import LINK

THIGH, SHIN = 0.4215, 0.4099  # hip-knee and knee-ankle lengths, metres



def rot_z(deg: float) -> np.ndarray:
    return quat_axis_angle("z", math.radians(deg))


def limb_rotation(flex: float, abduct: float, twist: float, side: int) -> np.ndarray:
    """Hip/shoulder quaternion from flexion (forward), abduction (outward) and twist, in degrees.
    ``side`` is +1 right, -1 left: outward is +z on the right and -z on the left."""
    q = quat_mul(rot_z(flex), quat_axis_angle("x", math.radians(-side * abduct)))
    return quat_mul(q, quat_axis_angle("y", math.radians(side * twist)))


def set_legs(pose: Pose, thigh: tuple[float, float], knee: tuple[float, float], abduct: tuple[float, float],
          pelvis_pitch: float = 0.0, flat_feet: bool = True) -> None:
    """Set both legs from world thigh angles (degrees from straight down, forward positive) and knee
    flexions, given the pelvis pitched forward by ``pelvis_pitch`` degrees; feet parallel to the pelvis."""
    for i, (side, name) in enumerate(((1, "right"), (-1, "left"))):
        t, k, a = thigh[i], knee[i], abduct[i]
        pose.joints[LINK[f"{name}_hip"]] = limb_rotation(t + pelvis_pitch, a, 0.0, side)
        pose.joints[LINK[f"{name}_knee"]] = np.array([-math.radians(k)])
        # Foot sole horizontal: ankle undoes the chain's total rotation about z (pitch + hip - knee).
        ankle = k - t if flat_feet else 0.0
        pose.joints[LINK[f"{name}_ankle"]] = rot_z(min(45.0, max(-45.0, ankle)))


def set_spine(rng: np.random.Generator, lean: tuple[float, float], pose: Pose) -> None:
    """Chest lean forward (degrees, positive forward), side bend and twist; a loosely random neck."""
    chest = quat_mul(rot_z(-rng.uniform(*lean)), quat_axis_angle("x", math.radians(rng.uniform(-10, 10))))
    pose.joints[LINK["chest"]] = quat_mul(chest, quat_axis_angle("y", math.radians(rng.uniform(-25, 25))))
    neck = quat_mul(rot_z(rng.uniform(-20, 20)), quat_axis_angle("y", math.radians(rng.uniform(-40, 40))))
    pose.joints[LINK["neck"]] = neck


def set_arms(rng: np.random.Generator, pose: Pose, flex: tuple[float, float] = (-30, 100),
          abduct: tuple[float, float] = (0, 60)) -> None:
    for side, name in ((1, "right"), (-1, "left")):
        pose.joints[LINK[f"{name}_shoulder"]] = limb_rotation(rng.uniform(*flex), rng.uniform(*abduct),
                                                      rng.uniform(-40, 40), side)
        pose.joints[LINK[f"{name}_elbow"]] = np.array([math.radians(rng.uniform(0, 130))])


def heels_down_knee(thigh: np.ndarray, drop: float) -> np.ndarray:
    """Knee flexion (degrees) that puts the ankle ``drop`` metres below the hip, for thighs at ``thigh``
    degrees from the body's downward axis, the hip-ankle plane being vertical (sitting or lying on
    the ground with the feet planted)."""
    knee_rise = -THIGH * np.cos(np.radians(thigh))
    shin = np.degrees(np.arccos(np.clip((knee_rise + drop) / SHIN, -1, 1)))
    return np.clip(thigh - shin, 0, 150)


def upright_pose(rng: np.random.Generator, yaw: float, pitch: float) -> Pose:
    pose = Pose.neutral(1.0)
    roll = math.radians(rng.uniform(-5, 5))
    pose.root_orn = quat_mul(quat_axis_angle("y", yaw), quat_mul(rot_z(-pitch), quat_axis_angle("x", roll)))
    return pose


def stand_pose(rng: np.random.Generator, yaw: float) -> Pose:
    pitch = rng.uniform(-4, 8)
    pose = upright_pose(rng, yaw, pitch)
    set_spine(rng, (-8, 20), pose)
    thigh = rng.uniform(-10, 15, 2)
    set_legs(pose, thigh, rng.uniform(0, 15, 2), rng.uniform(0, 12, 2), pitch)
    set_arms(rng, pose, flex=(-30, 170), abduct=(0, 110))
    return pose


def sit_pose(rng: np.random.Generator, yaw: float, on_ground: bool) -> Pose:
    # Mostly upright; sometimes a slouch or a strong lean that the geometry may refuse.
    pitch = rng.uniform(-15, 20) if rng.random() < 0.85 else rng.uniform(20, 40)
    pose = upright_pose(rng, yaw, pitch)
    set_spine(rng, (-10, 25), pose)
    if not on_ground:
        thigh = rng.uniform(75, 110) + rng.uniform(-8, 8, 2)
        knee = rng.uniform(60, 120) + rng.uniform(-12, 12, 2)
        set_legs(pose, thigh, knee, rng.uniform(0, 20, 2), pitch)
    else:  # from legs stretched forward (thighs ~90 deg) to knees drawn up, heels on the ground
        thigh = rng.uniform(88, 145) + rng.uniform(-4, 4, 2)
        set_legs(pose, thigh, heels_down_knee(thigh, 0.03), rng.uniform(0, 25, 2), pitch)
    set_arms(rng, pose)
    return pose


def lie_pose(rng: np.random.Generator, yaw: float) -> Pose:
    pose = Pose.neutral(1.0)
    set_spine(rng, (-10, 15), pose)
    side = str(rng.choice(["back", "front", "right", "left"], p=[0.4, 0.3, 0.15, 0.15]))
    # Limb ranges keep limbs on or above the floor: flexion points into the floor when prone,
    # abduction of the lower arm/leg does when on the side.
    if side == "back":
        # Legs flat, or knees up with the feet planted (a thigh at t deg from the body axis rises
        # like a seated thigh at 90 + t deg).
        thigh = rng.uniform(20, 45, 2) if rng.random() < 0.3 else rng.uniform(-5, 15, 2)
        knee = np.where(thigh > 15, heels_down_knee(thigh + 90, 0.04), rng.uniform(0, 20, 2))
        set_legs(pose, thigh, knee, rng.uniform(0, 25, 2), flat_feet=False)
    elif side == "front":
        set_legs(pose, rng.uniform(-10, 5, 2), rng.uniform(0, 60, 2), rng.uniform(0, 25, 2), flat_feet=False)
    else:
        set_legs(pose, rng.uniform(10, 70, 2), rng.uniform(20, 100, 2), rng.uniform(0, 10, 2), flat_feet=False)
    for s, name in ((1, "right"), (-1, "left")):
        overhead = rng.random() < 0.2
        # The elbow bends towards the upper arm's front: up when supine with the arm down, down when
        # prone or with the arm overhead (a half-turn twist fixes both); on the side, no twist keeps
        # the lower forearm on the floor.
        twist = rng.uniform(-20, 20) + (180 if (side == "front") != overhead else 0)
        if side == "back":
            flex, abduct = (rng.uniform(150, 180) if overhead else rng.uniform(0, 60)), rng.uniform(0, 90)
        elif side == "front":
            flex, abduct = (rng.uniform(160, 180) if overhead else rng.uniform(-15, 10)), rng.uniform(0, 80)
        elif name == side:  # the arm underneath
            flex, abduct, twist = rng.uniform(-20, 180), rng.uniform(0, 5), 0.0
        else:
            flex, abduct = rng.uniform(-20, 90), rng.uniform(0, 40)
        pose.joints[LINK[f"{name}_shoulder"]] = limb_rotation(flex, abduct, twist, s)
        pose.joints[LINK[f"{name}_elbow"]] = np.array([math.radians(rng.uniform(0, 110))])
    body = {"back": rot_z(90), "front": rot_z(-90), "right": quat_axis_angle("x", math.pi / 2),
            "left": quat_axis_angle("x", -math.pi / 2)}[side]
    tilt = quat_mul(rot_z(rng.uniform(-10, 10)), quat_axis_angle("x", math.radians(rng.uniform(-10, 10))))
    pose.root_orn = quat_mul(quat_axis_angle("y", yaw), quat_mul(tilt, body))
    return pose
