#!/usr/bin/python3
"""Nova's own client code driven by the Go test harness (pypeer.StartNova).

It calls a compute service with nova.compute.rpcapi.ComputeAPI (and nova's
NovaObjectSerializer), with real nova.objects.Instance objects and a real
nova.context.RequestContext, the compute RPC version pinned through
[upgrade_levels] compute so that no database is needed; it emits versioned
notifications with nova's own notification code; and it serves a conductor
(object_backport_versions, as nova-conductor's ConductorManager does).

With --newer-instance the process registers an Instance 2.8 (one field more
than Zed's 2.7), as a newer Nova would have: its calls send Instance 2.8, and
its conductor can backport 2.8 to 2.7.

Reads JSON commands from stdin, one per line, and answers each with one JSON
line on stdout, in order. The first line is READY. Logs go to stderr. The
process exits when stdin reaches EOF.

Commands (op):

    compute     method (get_console_output | get_instance_diagnostics |
                reserve_block_device_name), upgrade_level (zed, victoria, a
                version), instance_host; returns the result's class, module,
                VERSION, obj_what_changed() and fields, or the exception
    notify_create   nova.compute.utils.notify_about_instance_create
                (phase end) for an instance on instance_host
    call        a plain RPC call (topic, server, namespace, version, method,
                args) without a serializer, for the plugin's own endpoints
"""

import argparse
import json
import logging
import sys
import threading
import uuid

from oslo_utils import timeutils

from nova import conf as nova_conf
from nova import context as nova_context
from nova import objects
from nova import rpc
from nova.objects import base as obj_base
from nova.objects import fields as obj_fields

objects.register_all()
CONF = nova_conf.CONF

INSTANCE_UUID = '2c5f1ab7-4c3b-4f8e-9d1a-3b2f5e7c9a11'


def emit(obj):
    sys.stdout.write(json.dumps(obj, default=repr) + "\n")
    sys.stdout.flush()


def register_newer_instance():
    base_cls = objects.Instance

    @obj_base.NovaObjectRegistry.register
    class Instance(base_cls):
        # Version 2.8: Added future_field
        VERSION = '2.8'
        fields = dict(base_cls.fields, future_field=obj_fields.StringField(nullable=True))

        def obj_make_compatible(self, primitive, target_version):
            super().obj_make_compatible(primitive, target_version)
            if tuple(int(x) for x in target_version.split('.')) < (2, 8):
                primitive.pop('future_field', None)


def make_context():
    return nova_context.RequestContext(
        user_id='u-alice', project_id='p-demo', user_name='alice', project_name='demo',
        roles=['member', 'reader'], auth_token='SECRET-TOKEN', is_admin=False,
        request_id='req-' + str(uuid.uuid4()), global_request_id='req-' + str(uuid.uuid4()),
        remote_address='10.0.0.7', read_deleted='no', overwrite=False)


def make_instance(ctxt, host, newer):
    flavor = objects.Flavor(id=1, flavorid='m1', name='m1.tiny', memory_mb=512, vcpus=2, root_gb=1,
                            ephemeral_gb=0, swap=0, rxtx_factor=1.0, vcpu_weight=0, disabled=False,
                            is_public=True, extra_specs={}, description=None)
    now = timeutils.utcnow().replace(microsecond=0)
    from nova.network import model as network_model
    kw = dict(
        context=ctxt, id=1, uuid=INSTANCE_UUID, user_id='u-alice', project_id='p-demo',
        display_name='vm1', hostname='vm1', host=host, node=host, vm_state='active', power_state=1,
        task_state=None, flavor=flavor, vcpus=2, memory_mb=512, root_gb=1, ephemeral_gb=0,
        info_cache=objects.InstanceInfoCache(network_info=network_model.NetworkInfo([])),
        metadata={'role': 'db'}, system_metadata={}, tags=objects.TagList(objects=[]),
        keypairs=objects.KeyPairList(objects=[]), trusted_certs=None, launched_at=now, created_at=now,
        terminated_at=None, deleted_at=None, updated_at=None, locked=False, auto_disk_config=False,
        key_name=None, kernel_id='', ramdisk_id='', image_ref='img-1', os_type=None, architecture=None,
        availability_zone='nova', reservation_id='r-1', display_description=None, progress=0,
        launch_index=0, key_data=None, root_device_name='/dev/vda', locked_by=None, config_drive='',
        default_ephemeral_device=None, default_swap_device=None, access_ip_v4=None, access_ip_v6=None,
        ephemeral_key_uuid=None, cell_name=None, shutdown_terminate=False, disable_terminate=False,
        instance_type_id=1, cleaned=False, deleted=False, hidden=False)
    if newer:
        kw['future_field'] = 'from the future'
    inst = objects.Instance(**kw)
    inst.obj_reset_changes(recursive=True)
    return inst


def describe_object(obj):
    out = {'class': type(obj).__name__, 'module': type(obj).__module__,
           'version': obj.VERSION, 'changes': sorted(obj.obj_what_changed()),
           'fields': {}}
    for name in obj.fields:
        if not obj.obj_attr_is_set(name):
            continue
        value = getattr(obj, name)
        if isinstance(value, obj_base.NovaObject):
            value = describe_object(value)
        elif isinstance(value, list) and value and isinstance(value[0], obj_base.NovaObject):
            value = [describe_object(v) for v in value]
        out['fields'][name] = value
    return out


def describe_result(res):
    if isinstance(res, obj_base.NovaObject):
        return describe_object(res)
    return {'class': type(res).__name__, 'value': res}


def describe_exc(e):
    return {'ok': False, 'exc_class': type(e).__name__, 'exc_module': type(e).__module__,
            'msg': str(e), 'exc_type': getattr(e, 'exc_type', None),
            'kwargs': getattr(e, 'kwargs', None),
            'mro': ['%s.%s' % (c.__module__, c.__name__) for c in type(e).__mro__]}


class Conductor(object):
    """nova-conductor's object_backport_versions, nova's own code."""
    target = None

    def object_backport_versions(self, context, objinst, object_versions):
        from nova.conductor import manager
        self.backports.append({'name': objinst.obj_name(), 'version': objinst.VERSION,
                               'object_versions': object_versions,
                               'context_class': type(context).__name__,
                               'request_id': context.request_id, 'user_id': context.user_id})
        return manager.ConductorManager.object_backport_versions(
            self, context, objinst, object_versions)


def compute_call(cmd, newer):
    from nova.compute import rpcapi as compute_rpcapi
    CONF.set_override('compute', cmd.get('upgrade_level', 'zed'), group='upgrade_levels')
    compute_rpcapi._ROUTER = None  # the router caches the version cap
    api = compute_rpcapi.ComputeAPI()
    ctxt = make_context()
    inst = make_instance(ctxt, cmd['instance_host'], newer)
    method = cmd['method']
    try:
        if method == 'get_console_output':
            res = api.get_console_output(ctxt, inst, 10)
        elif method == 'get_instance_diagnostics':
            res = api.get_instance_diagnostics(ctxt, inst)
        elif method == 'reserve_block_device_name':
            res = api.reserve_block_device_name(ctxt, inst, None, 'vol-1', 'virtio', 'disk', None, False)
        else:
            return {'ok': False, 'driver_error': 'unknown method %s' % method}
    except Exception as e:  # the outcome under test
        return dict(describe_exc(e), request_id=ctxt.request_id)
    return {'ok': True, 'result': describe_result(res), 'request_id': ctxt.request_id,
            'global_request_id': ctxt.global_request_id}


def notify_create(cmd, newer):
    from nova.compute import utils as compute_utils
    ctxt = make_context()
    inst = make_instance(ctxt, cmd['instance_host'], newer)
    compute_utils.notify_about_instance_create(
        ctxt, inst, cmd['instance_host'], phase='end',
        bdms=objects.BlockDeviceMappingList(objects=[]))
    return {'ok': True, 'request_id': ctxt.request_id, 'uuid': inst.uuid}


def plain_call(cmd):
    import oslo_messaging as messaging
    target = messaging.Target(topic=cmd['topic'], server=cmd.get('server'),
                              namespace=cmd.get('namespace'), version=cmd.get('version'))
    client = messaging.get_rpc_client(rpc.TRANSPORT, target)
    try:
        return {'ok': True, 'result': client.call({}, cmd['method'], **cmd.get('args', {}))}
    except Exception as e:
        return describe_exc(e)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--url', required=True)
    p.add_argument('--exchange', required=True)
    p.add_argument('--notify-topic', required=True)
    p.add_argument('--conductor-topic', default='')
    p.add_argument('--newer-instance', action='store_true')
    a = p.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    if a.newer_instance:
        register_newer_instance()
    CONF([], project='nova', default_config_files=[])
    import oslo_messaging as messaging
    from oslo_messaging import opts as messaging_opts
    for group, group_opts in messaging_opts.list_opts():
        CONF.register_opts(group_opts, group=group)
    CONF.set_override('transport_url', a.url)
    CONF.set_override('control_exchange', a.exchange)
    CONF.set_override('notification_format', 'versioned', group='notifications')
    CONF.set_override('versioned_notifications_topics', [a.notify_topic], group='notifications')
    CONF.set_override('driver', ['messagingv2'], group='oslo_messaging_notifications')
    rpc.add_extra_exmods('oslo_versionedobjects.exception')
    rpc.init(CONF)

    conductor = None
    if a.conductor_topic:
        conductor = Conductor()
        conductor.backports = []
        conductor.target = messaging.Target(version='3.0')
        server = messaging.get_rpc_server(
            rpc.TRANSPORT, messaging.Target(topic=a.conductor_topic, server='conductor-1'),
            [conductor], executor='threading',
            serializer=rpc.RequestContextSerializer(obj_base.NovaObjectSerializer()))
        server.start()

    sys.stdout.write('READY\n')
    sys.stdout.flush()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        cmd = json.loads(line)
        op = cmd.get('op')
        try:
            if op == 'compute':
                out = compute_call(cmd, a.newer_instance)
            elif op == 'notify_create':
                out = notify_create(cmd, a.newer_instance)
            elif op == 'call':
                out = plain_call(cmd)
            elif op == 'backports':
                out = {'ok': True, 'result': conductor.backports if conductor else []}
            else:
                out = {'ok': False, 'driver_error': 'unknown op %r' % op}
        except Exception as e:
            logging.exception('command failed')
            out = {'ok': False, 'driver_error': repr(e)}
        out['id'] = cmd.get('id')
        emit(out)


if __name__ == '__main__':
    main()
