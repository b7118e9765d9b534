#!/usr/bin/python3
"""An oslo.messaging RPC server whose endpoint takes and returns
oslo.versionedobjects objects through VersionedObjectSerializer, for the Go
client's versioned-object tests (pypeer.StartOVOServer).

Objects (OBJ_PROJECT_NAMESPACE "versionedobjects", primitives keyed
"versioned_object.*"):

    Part 1.0     name, count
    Widget 1.1   id, name, size (float), color (added in 1.1), parts
                 (list of Part), created_at

Methods:

    inspect(widget)      what the server read: class, VERSION, changes, fields
    grow(widget, by)     size += by, a Part appended; returns the widget
    make_widget(name)    a new Widget
    old_widget()         a Widget as a 1.0 reader gets it (no color)

The first line on stdout is READY; logs go to stderr; exits when stdin
closes or on SIGTERM.
"""

import argparse
import logging
import signal
import sys
import threading

from oslo_config import cfg
import oslo_messaging as messaging
from oslo_utils import timeutils
from oslo_versionedobjects import base
from oslo_versionedobjects import fields


@base.VersionedObjectRegistry.register
class Part(base.VersionedObject):
    VERSION = '1.0'
    fields = {'name': fields.StringField(), 'count': fields.IntegerField()}


@base.VersionedObjectRegistry.register
class Widget(base.VersionedObject):
    # Version 1.0: Initial version
    # Version 1.1: Added color
    VERSION = '1.1'
    fields = {
        'id': fields.IntegerField(),
        'name': fields.StringField(),
        'size': fields.FloatField(),
        'color': fields.StringField(nullable=True),
        'parts': fields.ListOfObjectsField('Part', default=[]),
        'created_at': fields.DateTimeField(nullable=True),
    }

    obj_relationships = {'parts': [('1.0', '1.0')]}

    def obj_make_compatible(self, primitive, target_version):
        super().obj_make_compatible(primitive, target_version)
        if tuple(int(x) for x in target_version.split('.')) < (1, 1):
            primitive.pop('color', None)


def describe(obj):
    out = {'class': type(obj).__name__, 'version': obj.VERSION,
           'changes': sorted(obj.obj_what_changed()), 'fields': {}}
    for name in obj.fields:
        if obj.obj_attr_is_set(name):
            v = getattr(obj, name)
            if isinstance(v, list):
                v = [describe(p) if isinstance(p, base.VersionedObject) else p for p in v]
            elif isinstance(v, base.VersionedObject):
                v = describe(v)
            elif hasattr(v, 'isoformat'):
                v = v.isoformat()
            out['fields'][name] = v
    return out


class Endpoint(object):
    target = messaging.Target(version='1.0')

    def inspect(self, ctxt, widget):
        return {'widget': describe(widget), 'size_type': type(widget.size).__name__,
                'ctxt_user': ctxt.get('user'), 'ctxt_request_id': ctxt.get('request_id'),
                'ctxt_extra': ctxt.get('x_extra')}

    def grow(self, ctxt, widget, by):
        widget.size += by
        widget.parts = widget.parts + [Part(name='added', count=1)]
        return widget

    def make_widget(self, ctxt, name):
        return Widget(id=7, name=name, size=1.5, color='red', parts=[Part(name='p', count=2)],
                      created_at=timeutils.utcnow().replace(microsecond=0))

    def old_widget(self, ctxt):
        w = Widget(id=8, name='old', size=2.0, color='blue', parts=[])
        return w.obj_to_primitive(target_version='1.0')


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--url', required=True)
    p.add_argument('--exchange', required=True)
    p.add_argument('--topic', required=True)
    p.add_argument('--server', required=True)
    a = p.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    conf = cfg.ConfigOpts()
    conf([], project='ovo_server')
    messaging.set_transport_defaults(a.exchange)
    transport = messaging.get_rpc_transport(conf, url=a.url)
    server = messaging.get_rpc_server(
        transport, messaging.Target(topic=a.topic, server=a.server), [Endpoint()],
        executor='threading', serializer=base.VersionedObjectSerializer())
    server.start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    sys.stdout.write('READY\n')
    sys.stdout.flush()
    done.wait()
    server.stop()
    server.wait()


if __name__ == '__main__':
    main()
