// One all-pairs N-body integration step (softened gravity, leapfrog update).
__kernel void nbody_step(__global const float4 *pos, __global const float4 *vel,
                         __global float4 *new_pos, __global float4 *new_vel,
                         const int n, const float dt, const float eps2) {
  int i = get_global_id(0);
  if (i >= n)
    return;
  float4 p = pos[i];
  float3 acc = (float3)(0.0f, 0.0f, 0.0f);
  for (int j = 0; j < n; ++j) {
    float4 q = pos[j];
    float3 d = q.xyz - p.xyz;
    float inv = rsqrt(dot(d, d) + eps2);
    acc += q.w * inv * inv * inv * d;
  }
  float4 v = vel[i];
  v.xyz += acc * dt;
  p.xyz += v.xyz * dt;
  new_pos[i] = p;
  new_vel[i] = v;
}
