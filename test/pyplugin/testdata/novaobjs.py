"""An endpoint taking and returning Nova objects, with Nova's own RPC
serializer: RequestContextSerializer over NovaObjectSerializer, as
nova.rpc.get_server builds it. The context arrives as a
nova.context.RequestContext, the keypair as a nova.objects.KeyPair."""

import oslo_messaging

from nova import context as nova_context
from nova import objects
from nova import rpc as nova_rpc
from nova.objects import base as nova_base

objects.register_all()


def serializer():
    return nova_rpc.RequestContextSerializer(nova_base.NovaObjectSerializer())


class KeypairEndpoint(object):
    target = oslo_messaging.Target(namespace="keypairs", version="1.1")

    def rename(self, ctxt, keypair, name):
        if not isinstance(ctxt, nova_context.RequestContext):
            raise TypeError("context is a %s" % type(ctxt))
        if not isinstance(keypair, objects.KeyPair):
            raise TypeError("keypair is a %s" % type(keypair))
        keypair.name = name
        return keypair

    def context(self, ctxt):
        return {"class": "%s.%s" % (type(ctxt).__module__,
                                    type(ctxt).__name__),
                "user_id": ctxt.user_id, "project_id": ctxt.project_id,
                "request_id": ctxt.request_id, "is_admin": ctxt.is_admin}

    def fail_nova(self, ctxt, keypair_name):
        from nova import exception
        raise exception.KeypairNotFound(user_id=ctxt.user_id,
                                        name=keypair_name)


def endpoints(config=None):
    return [KeypairEndpoint()]
